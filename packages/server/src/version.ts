/** The tsgi version, reported as uwsgi.version and in stats. */
export const TSGI_VERSION = '0.1.0';
