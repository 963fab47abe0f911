// Skeleton: this package gets its contents from its own issue.
export {};
