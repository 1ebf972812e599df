// Seeds 251..500 of the 1,000 that must run clean (see seed-range.ts).
import { testSeeds } from './seed-range.js';

testSeeds(251, 250);
