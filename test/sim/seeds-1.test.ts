// Seeds 1..250 of the 1,000 that must run clean (see seed-range.ts).
import { testSeeds } from './seed-range.js';

testSeeds(1, 250);
