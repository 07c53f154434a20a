// Types of bin/build.js (plain JavaScript, run before anything is compiled) for TypeScript importers (bench/).
export declare const ROOT: string;
export declare function buildIsCurrent(): boolean;
export declare function build(): number;
