// One part of the suite: see spec/helpers/parts.ts.
import { runPart } from '../helpers/parts.js';

await runPart(import.meta.url);
