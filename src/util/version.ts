/** Vigil's version: the one place it is written (a test checks that package.json agrees). */
export const VERSION = '0.1.0';
