// Types of bin/kd-bundle.mjs (plain JS so that it runs before any TypeScript loader), for its test.
export declare const buildInputs: readonly string[];
export declare class BundleBuildError extends Error {}
export declare function ensureBundle(options: { root: string; entry: string; bundleDir: string }): Promise<{ bundleFile: string; rebuilt: boolean }>;
export declare function bundleDirOf(root: string, env?: NodeJS.ProcessEnv): string;
export declare const repositoryRoot: string;
