/**
 * The zipar version, read from deno.json so it has one source.
 *
 * @module
 */

import config from "../../deno.json" with { type: "json" };

/** The zipar version, e.g. `0.1.0`. */
export const VERSION: string = config.version;
