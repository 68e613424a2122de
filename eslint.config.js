import tseslint from 'typescript-eslint';

// The dependency direction of docs/ARCHITECTURE.md, as a rule rather than a convention:
// terminal → protocol ← cloud-bridge; simulators reach the others only over the wire.
const forbid = (...groups) => ({
  'no-restricted-imports': ['error', { patterns: groups.map((g) => ({ group: g.paths, message: g.message })) }],
});
const bridge = {
  paths: ['**/cloud-bridge/**', '**/cloud-bridge'],
  message: 'Only the bridge imports cloud-bridge/: talk to it over the wire.',
};
const terminal = { paths: ['**/terminal/**', '**/terminal'], message: 'Only the counter app imports terminal/.' };
const sims = {
  paths: ['**/simulators/**', '**/simulators'],
  message: 'Simulators are reached over the wire, never by import.',
};
const protocol = {
  paths: ['**/protocol/**', '**/protocol'],
  message: 'Simulators stand in for outside systems: they share no code with Kauri.',
};
const cli = { paths: ['**/cli/**'], message: 'cli/ is the composition root; nothing imports it.' };

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '**/dist/**', 'data/**', 'bin/**', '.stryker-tmp/**', 'reports/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  { files: ['protocol/**/*.ts'], rules: forbid(bridge, terminal, sims, cli) },
  { files: ['cloud-bridge/**/*.ts'], rules: forbid(terminal, sims, cli) },
  { files: ['terminal/**/*.ts', 'terminal/**/*.tsx'], rules: forbid(bridge, sims, cli) },
  { files: ['simulators/**/*.ts'], rules: forbid(bridge, terminal, protocol, cli) },
);
