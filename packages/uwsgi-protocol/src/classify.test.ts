import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyRequest, stripScriptName, varsToEnviron } from './index.js';

describe('classifyRequest / stripScriptName', () => {
  it('classifies modifier1 0, 30, 100, 110 and the rest', () => {
    assert.deepEqual(classifyRequest({ modifier1: 0, modifier2: 0 }), { kind: 'app', stripScriptName: false });
    assert.deepEqual(classifyRequest({ modifier1: 30, modifier2: 0 }), { kind: 'app', stripScriptName: true });
    assert.deepEqual(classifyRequest({ modifier1: 100, modifier2: 0 }), { kind: 'ping' });
    assert.deepEqual(classifyRequest({ modifier1: 110, modifier2: 17 }), { kind: 'signal', signal: 17 });
    assert.deepEqual(classifyRequest({ modifier1: 99, modifier2: 0 }), { kind: 'unknown', modifier1: 99, logText: '-- unavailable modifier requested: 99 --' });
  });

  it('strips SCRIPT_NAME\'s length from PATH_INFO, as uWSGI does', () => {
    assert.equal(stripScriptName(varsToEnviron([['SCRIPT_NAME', '/app'], ['PATH_INFO', '/app/x']])).PATH_INFO, '/x');
    assert.equal(stripScriptName(varsToEnviron([['SCRIPT_NAME', '/app'], ['PATH_INFO', '/ap']])).PATH_INFO, '');
    assert.equal(stripScriptName(varsToEnviron([['PATH_INFO', '/x']])).PATH_INFO, '/x');
  });
});
