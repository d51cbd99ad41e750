import { setFlagsFromString } from 'node:v8';

/*
 * Lets V8 drop the bytecode of code that ran only while the bot started.
 *
 * V8 compiles a function to bytecode when it first runs and drops that bytecode once the function has gone unused
 * through `--bytecode-old-age` full garbage collections; a function needed again is compiled again from its source on
 * its next call. V8's default of 6 suits a browser tab, which collects often. An idle bot collects about three times
 * (once while starting, twice when the memory reducer shrinks the heap), so the bytecode of module set-up, parsing the
 * configuration and migrating the store stayed for good: about 2 MB of an idle bot's memory on Node.js 22 and 24
 * (npm run bench). With 1 it goes at the first full collection after its last call. What runs on every command or
 * poll is called between collections and keeps its bytecode; a handler unused since the last collection is
 * compiled again, which takes well under a millisecond.
 *
 * V8 reads the flag at each collection, so setting it once the process runs takes effect; NODE_OPTIONS does not
 * accept it. No library does this.
 */

export const BYTECODE_OLD_AGE = 1;

export function dropStartupBytecodeSooner(): void {
  setFlagsFromString(`--bytecode-old-age=${BYTECODE_OLD_AGE}`);
}
