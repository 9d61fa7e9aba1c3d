/**
 * The API's validation messages are JSON Schema's (Ajv's) words, written for programs:
 * `must match format "email"`, `must NOT have fewer than 1 characters`. The page says them as a
 * person would; a message it does not know is shown as the API wrote it.
 */
const RULES: [RegExp, (label: string, match: RegExpExecArray) => string][] = [
  [/must match format "email"/, (label) => `${label} must be an address like ada@example.com.`],
  [/must NOT have fewer than 1 characters/, (label) => `${label} cannot be empty.`],
  [
    /must NOT have fewer than (\d+) characters/,
    (label, m) => `${label} needs at least ${m[1]} characters.`,
  ],
  [
    /must NOT have more than (\d+) characters/,
    (label, m) => `${label} can have at most ${m[1]} characters.`,
  ],
  [/must match pattern/, (label) => `${label} cannot contain control characters.`],
  [/must have required property|is required/, (label) => `${label} is required.`],
  [/must be string/, (label) => `${label} must be text.`],
];

export function humanMessage(label: string, message: string): string {
  for (const [pattern, say] of RULES) {
    const match = pattern.exec(message);
    if (match) return say(label, match);
  }
  return `${label} ${message.replace(/\.$/, '')}.`;
}

/** "1 user", "31 users". */
export const users = (count: number) => `${count} ${count === 1 ? 'user' : 'users'}`;

/** What the list shows: "Showing 26–50 of 100 users (page 2 of 4).", "Showing 31 of 31 users…". */
export function listSummary(
  view: { search: string; skip: number; limit: number },
  shown: number,
  total: number,
): string {
  if (total === 0) return view.search ? `No users match “${view.search}”.` : 'No users yet.';
  if (shown === 0) return `No users on this page; ${users(total)} in all.`;
  if (total === 1) return `Showing ${users(1)}.`;
  const pages = Math.ceil(total / view.limit);
  const page = Math.floor(view.skip / view.limit) + 1;
  const first = view.skip + 1;
  const last = view.skip + shown;
  const range = first === last ? `${first}` : `${first}–${last}`;
  const where = pages > 1 ? ` (page ${page} of ${pages})` : '';
  return `Showing ${range} of ${users(total)}${where}.`;
}
