/* global process */
'use strict';
/**
 * Preloaded (`node --require`) by every npm script that starts a process, before the process's
 * own modules are even parsed: an older Node.js would otherwise fail on a missing built-in export
 * with a SyntaxError that says nothing of the cause. Plain CommonJS in the oldest syntax, so
 * that any Node.js can run it. `npm install` refuses older versions by itself (.npmrc's
 * engine-strict, package.json's engines).
 */
var REQUIRED = 24;
var major = Number(process.versions.node.split('.')[0]);
if (!(major >= REQUIRED)) {
  process.stderr.write(
    '12factor-app needs Node.js ' +
      REQUIRED +
      ' or newer (this is ' +
      process.version +
      '): run `nvm install` (it reads .nvmrc) or get it from https://nodejs.org/\n',
  );
  process.exit(1);
}
// Built at install (`prepare`) and by `npm run build`, never by `npm start`: a checkout installed
// with --ignore-scripts has no dist/ yet.
var main = process.argv[1];
var fs = process.getBuiltinModule('node:fs');
if (main && /[\\/]dist[\\/]/.test(main) && !fs.existsSync(main)) {
  process.stderr.write(
    '12factor-app is not built yet (' + main + ' is missing): run `npm run build`\n',
  );
  process.exit(1);
}
