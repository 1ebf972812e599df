// Seeds 501..750 of the 1,000 that must run clean (see seed-range.ts).
import { testSeeds } from './seed-range.js';

testSeeds(501, 250);
