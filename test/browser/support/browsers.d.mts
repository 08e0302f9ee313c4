export declare const CHROMIUM_PATH: string;
export declare const FIREFOX_PATH: string;
export declare function ensureDebianPackage(path: string, debianPackage: string): string;
export declare const ensureBrowser: typeof ensureDebianPackage;
export declare function chromiumArgs(options?: { y4m?: string; fakeDevices?: string }): string[];
export declare const FIREFOX_PREFS: Record<string, boolean | number | string>;
