import type { NewUser } from '../users/user-store.ts';

// Small built-in lists, some with letters beyond ASCII so seeded data exercises Unicode the way
// real directories do; no faker needed.
const FIRST = [
  'Ada',
  'Alan',
  'Grace',
  'Linus',
  'Margaret',
  'Dennis',
  'Barbara',
  'Ken',
  'Frances',
  'Edsger',
  'Radia',
  'Tim',
  'Hedy',
  'Donald',
  'Katherine',
  'John',
  'Élodie',
  'Zoë',
  'José',
  'Søren',
  'Łukasz',
  'Chloé',
  'Björn',
  'Siobhán',
  'François',
  'Ngozi',
  'Hiroshi',
  'Mei',
  'Priya',
  'Oluwaseun',
  'Ana',
  'Mateo',
  'Aiyana',
  'Yusuf',
  'Ingrid',
  'Kofi',
  'Leilani',
  'Dmitri',
  'Fatima',
  'Tomás',
  'Noor',
  'Sven',
  'Amara',
  'Kenji',
  'Lucía',
  'Rahul',
  'Astrid',
  'Emeka',
];
const LAST = [
  'Lovelace',
  'Turing',
  'Hopper',
  'Torvalds',
  'Hamilton',
  'Ritchie',
  'Liskov',
  'Thompson',
  'Allen',
  'Dijkstra',
  'Perlman',
  'Berners-Lee',
  'Lamarr',
  'Knuth',
  'Johnson',
  'McCarthy',
  'Martin',
  'Müller',
  'García',
  'Nuñez',
  'Kowalski',
  'Larsen',
  'Ó Briain',
  'Dubois',
  'Okafor',
  'Tanaka',
  'Wang',
  'Sharma',
  'Adeyemi',
  'Silva',
  'Rossi',
  'Nakamura',
  'Andersson',
  'Mensah',
  'Kahale',
  'Ivanov',
  'Haddad',
  'Ferreira',
  'Khan',
  'Nilsson',
  'Eze',
  'Sato',
  'López',
  'Patel',
  'Berg',
  'Osei',
  'Novak',
  'Moreau',
];
const DOMAINS = ['example.com', 'example.org', 'example.net', 'mail.example'];
const COMBINATIONS = FIRST.length * LAST.length;
// Coprime with COMBINATIONS (2,304 = 2⁸·3²), so i ↦ i·STEP mod COMBINATIONS is a permutation.
const STEP = 1031;

/** Seeded users are created, and updated, during 2024 (UTC). */
const EPOCH_MS = Date.UTC(2024, 0, 1);
const END_MS = Date.UTC(2025, 0, 1);

/** A 32-bit hash of (seed, i, k): every field of user i is drawn from it, so users need no state. */
function draw(seed: number, i: number, k: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(i + 0x632be5ab, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) ^ Math.imul(k + 0x27d4eb2f, 0x165667b1);
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
  return (h ^ (h >>> 15)) >>> 0;
}
const fraction = (seed: number, i: number, k: number) => draw(seed, i, k) / 2 ** 32;

const LETTERS: Record<string, string> = { ø: 'o', ł: 'l', ß: 'ss', æ: 'ae', đ: 'd' };
/** The ASCII local-part form of a name: "Ó Briain" → "obriain", "Søren" → "soren". */
function ascii(name: string): string {
  return name
    .toLowerCase()
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[øłßæđ]/g, (c) => LETTERS[c] ?? '')
    .replace(/[^a-z]/g, '');
}

const hex = (value: number, digits: number) =>
  value.toString(16).padStart(digits, '0').slice(-digits);

/**
 * User number `i` of seed `seed`, the same on every run. Names pair a first and a last name;
 * the first 2,304 users of a seed get distinct pairs, later ones repeat them with a number in
 * the address ("ada.lovelace2@…"), so addresses are unique for a seed whatever the count.
 * Ids are ObjectIds whose time is `createdAt`, so id order is creation order, as in the API.
 * The `spread.total` users of a run share 2024 evenly, each at a random moment of its own slot.
 */
export function seedUser(seed: number, i: number, spread = { total: 10_000 }): NewUser {
  const pair = (i * STEP + (draw(seed, 0, 0) % COMBINATIONS)) % COMBINATIONS;
  const first = FIRST[pair % FIRST.length] ?? 'Ada';
  const last = LAST[Math.floor(pair / FIRST.length)] ?? 'Lovelace';
  const round = Math.floor(i / COMBINATIONS);
  const slotMs = (END_MS - EPOCH_MS) / Math.max(spread.total, i + 1);
  const createdMs = Math.floor(EPOCH_MS + (i + fraction(seed, i, 1)) * slotMs);
  const updated = fraction(seed, i, 2) < 0.3;
  const updatedMs = updated
    ? Math.min(END_MS - 1, createdMs + Math.floor(fraction(seed, i, 3) * 90 * 86_400_000))
    : createdMs;
  const hasEmail = fraction(seed, i, 4) >= 0.15;
  const domain = DOMAINS[draw(seed, i, 5) % DOMAINS.length] ?? DOMAINS[0];
  const local = `${ascii(first)}.${ascii(last)}${round === 0 ? '' : round + 1}`;
  return {
    id:
      hex(Math.floor(createdMs / 1000), 8) +
      hex(draw(seed, i, 6), 8) +
      hex(draw(seed, i, 7) & 0xff, 2) +
      hex(i & 0xffffff, 6),
    name: `${first} ${last}`,
    email: hasEmail ? `${local}@${domain}` : undefined,
    createdAt: new Date(createdMs).toISOString(),
    updatedAt: new Date(updatedMs).toISOString(),
  };
}

/** Users `from` … `from + count − 1` of a seed, in batches. */
export function* seedBatches(options: {
  seed: number;
  from: number;
  count: number;
  batchSize: number;
}): Generator<NewUser[]> {
  const end = options.from + options.count;
  for (let start = options.from; start < end; start += options.batchSize) {
    const batch: NewUser[] = [];
    for (let i = start; i < Math.min(end, start + options.batchSize); i++) {
      batch.push(seedUser(options.seed, i, { total: end }));
    }
    yield batch;
  }
}
