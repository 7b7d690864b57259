// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The pure core (config, wire, membership, cluster) must stay free of I/O so that its decision
// logic runs under simulated time and a simulated network.
const ioModules = [
  'fs',
  'node:fs',
  'fs/promises',
  'node:fs/promises',
  'dgram',
  'node:dgram',
  'net',
  'node:net',
  'child_process',
  'node:child_process',
  'http',
  'node:http',
  'os',
  'node:os',
  'koffi',
  'timers',
  'node:timers',
  'worker_threads',
  'node:worker_threads',
];
const pureLayer = (allowed) => ({
  'no-restricted-imports': [
    'error',
    {
      paths: ioModules.map((name) => ({ name, message: 'The pure core must not do I/O: inject it.' })),
      patterns: [
        {
          group: [
            '**/transport/**',
            '**/resources/**',
            '**/agents/**',
            '**/os/**',
            '**/obs/**',
            '**/control/**',
            '**/http/**',
            '**/daemon/**',
            '**/cli/**',
            '**/lab/**',
            '**/quorum/**',
          ].filter((g) => !allowed.includes(g)),
          message: 'Import boundary of DESIGN.md: this layer may not import that folder.',
        },
      ],
    },
  ],
});

export default tseslint.config(
  // bench/results/snapshots: copies of the build that `npm run bench -- --snapshot` runs (git-ignored).
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'eslint.config.js',
      'bin/**',
      'bench/results/snapshots/**',
      'build/**',
      'dashboard/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-unnecessary-condition': ['error', { allowConstantLoopConditions: true }],
    },
  },
  {
    // The daemon must never block its event loop: no synchronous file or process calls in src/.
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'CallExpression[callee.property.name=/Sync$/], CallExpression[callee.name=/Sync$/]',
          message: 'No *Sync calls in src/: they block the heartbeat path.',
        },
      ],
    },
  },
  { files: ['src/config/**/*.ts', 'src/wire/**/*.ts'], rules: pureLayer([]) },
  { files: ['src/membership/**/*.ts'], rules: pureLayer([]) },
  { files: ['src/cluster/**/*.ts'], rules: pureLayer([]) },
  { files: ['src/node/**/*.ts', 'src/sim/**/*.ts'], rules: pureLayer([]) },
  { files: ['src/util/**/*.ts'], rules: pureLayer([]) },
  {
    files: ['test/**/*.ts', 'lab/**/*.ts', 'bench/**/*.ts', 'fuzz/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] },
          ],
        },
      ],
    },
  },
);
