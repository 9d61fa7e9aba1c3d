import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { MongoClient } from 'mongodb';

/** The MongoDB server to test against: MONGO_URL, or DATABASE_URL when it is a mongodb URL. */
export function mongoTestUrl(): string | undefined {
  const candidates = [process.env.MONGO_URL, process.env.DATABASE_URL];
  return candidates.find((url) => url !== undefined && /^mongodb(\+srv)?:\/\//i.test(url));
}

/** The URL with its path (the database) replaced; works on multi-host URLs `new URL` rejects. */
export function withMongoDatabase(url: string, database: string): string {
  const match = /^(mongodb(?:\+srv)?:\/\/[^/?#]+)(\/[^?#]*)?(.*)$/i.exec(url);
  if (!match) throw new Error('not a mongodb:// URL');
  return `${match[1]}/${database}${match[3] ?? ''}`;
}

export interface TestMongoDatabase {
  url: string;
  drop(): Promise<void>;
}

export function createTestMongoDatabase(serverUrl: string): TestMongoDatabase {
  const name = `t12f_${randomBytes(6).toString('hex')}`;
  const url = withMongoDatabase(serverUrl, name);
  return {
    url,
    async drop() {
      const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 });
      try {
        await client.db(name).dropDatabase();
      } finally {
        await client.close();
      }
    },
  };
}

/** Registers a visibly skipped test naming the variable to set, since MongoDB is optional locally. */
export function skipWithoutMongo(): void {
  const reason = 'MongoDB suite skipped: set MONGO_URL (or a mongodb:// DATABASE_URL) to run it';
  console.warn(`# ${reason}`);
  test('mongo — when no MongoDB URL is set, then the suite is skipped', (t) => t.skip(reason));
}
