// node --import ./register.mjs: installs the hook that swaps 'electron' for the fake.
import { register } from 'node:module';

register('./loader.mjs', import.meta.url);
