import { cpSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Rule {
  regex: RegExp;
  negated: boolean;
  pattern: string;
}

/**
 * `.dockerignore` as the builder applies it: patterns in order, the last match wins, `!`
 * re-includes, and a path is matched when it or one of its parent directories is.
 * https://docs.docker.com/build/concepts/context/#dockerignore-files
 */
export class DockerIgnore {
  private readonly rules: Rule[];

  constructor(text: string) {
    this.rules = text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => {
        const negated = line.startsWith('!');
        const pattern = (negated ? line.slice(1) : line).trim().replace(/^(\.?\/)+/, '');
        return { negated, pattern, regex: globToRegex(pattern) };
      });
  }

  static read(contextDir: string): DockerIgnore {
    try {
      return new DockerIgnore(readFileSync(join(contextDir, '.dockerignore'), 'utf8'));
    } catch {
      return new DockerIgnore('');
    }
  }

  /** Whether the builder leaves `path` (relative, `/`-separated) out of the context. */
  excludes(path: string): boolean {
    const candidates = path.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const rule of this.rules) {
      if (candidates.some((candidate) => rule.regex.test(candidate))) excluded = !rule.negated;
    }
    return excluded;
  }

  /** Whether some `!` rule could re-include a path below the excluded directory `dir`. */
  private mayReinclude(dir: string): boolean {
    return this.rules.some(
      (rule) => rule.negated && (rule.pattern.startsWith(`${dir}/`) || rule.pattern.includes('**')),
    );
  }

  /** Copies the context the builder would receive into `target`; returns its file list. */
  materialize(contextDir: string, target: string): string[] {
    const files: string[] = [];
    const walk = (relative: string) => {
      for (const entry of readdirSync(join(contextDir, relative), { withFileTypes: true })) {
        const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
        const excluded = this.excludes(path);
        if (entry.isDirectory()) {
          if (!excluded || this.mayReinclude(path)) walk(path);
        } else if (!excluded) {
          mkdirSync(join(target, relative), { recursive: true });
          cpSync(join(contextDir, path), join(target, path), {
            preserveTimestamps: true,
            verbatimSymlinks: true,
          });
          files.push(path);
        }
      }
    };
    walk('');
    return files;
  }
}

/** Go's filepath.Match plus `**`, as Docker's pattern matcher reads them. */
function globToRegex(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]!;
    if (char === '*' && pattern[i + 1] === '*') {
      const slash = pattern[i + 2] === '/';
      source += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else if (char === '[') {
      const end = pattern.indexOf(']', i);
      source += pattern.slice(i, end + 1).replace('[!', '[^');
      i = end;
    } else source += char.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}
