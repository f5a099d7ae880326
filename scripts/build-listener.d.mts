/** scripts/build-listener.mjs: builds the listener page's script, CSS and media module. */
export declare function buildListener(): Promise<{ js: string; css: string; media: { entry: string; files: Record<string, string> }; changed: boolean }>;
