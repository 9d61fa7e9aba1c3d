import { MongoClient, type ClientSession, type Db } from 'mongodb';
import { checkBuildInfo, helloReply, unsupportedFromDriver } from './mongo-version.ts';

export interface MongoConnectionOptions {
  url: string;
  poolMax: number;
  connectTimeoutMs: number;
}

/**
 * One MongoClient, connected on first use. A client whose first connect failed stays closed for
 * good ("Topology is closed"), so it is replaced and the next call tries again; once connected,
 * the driver's own monitoring reconnects after outages.
 */
export class MongoConnection {
  private readonly options: MongoConnectionOptions;
  private client: MongoClient;
  private connecting: Promise<Db> | undefined;
  private transactions: Promise<boolean> | undefined;
  private closed = false;

  constructor(options: MongoConnectionOptions) {
    this.options = options;
    // Built now so a malformed URL fails at creation, like every other configuration error.
    this.client = this.newClient();
  }

  /**
   * The database, once connected to a server of a supported version. A server too old for the
   * driver shows as a server selection timeout; it is reported as what it is instead.
   */
  db(): Promise<Db> {
    if (this.closed) return Promise.reject(new Error('The store is closed.'));
    this.connecting ??= this.client
      .connect()
      .then(async (client) => {
        const db = client.db();
        const unsupported = checkBuildInfo(await db.admin().command({ buildInfo: 1 }));
        if (unsupported) throw unsupported;
        return db;
      })
      .catch(async (error: unknown) => {
        const failed = this.client;
        this.client = this.newClient();
        this.connecting = undefined;
        await failed.close().catch(() => undefined);
        throw unsupportedFromDriver(error) ?? error;
      });
    return this.connecting;
  }

  /**
   * Multi-document transactions exist on replica sets and sharded clusters only; a standalone
   * server (a common development setup) rejects them.
   */
  supportsTransactions(): Promise<boolean> {
    this.transactions ??= this.db()
      .then((db) => helloReply(db))
      .then((hello) => typeof hello.setName === 'string' || hello.msg === 'isdbgrid')
      .catch((error: unknown) => {
        this.transactions = undefined;
        throw error;
      });
    return this.transactions;
  }

  /** Runs `work` in one transaction (retried by the driver on transient errors). */
  async withTransaction<T>(work: (session: ClientSession) => Promise<T>): Promise<T> {
    await this.db();
    const session = this.client.startSession();
    try {
      return await session.withTransaction(() => work(session));
    } finally {
      await session.endSession();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.connecting?.catch(() => undefined);
    await this.client.close();
  }

  private newClient(): MongoClient {
    return new MongoClient(this.options.url, {
      maxPoolSize: this.options.poolMax,
      serverSelectionTimeoutMS: this.options.connectTimeoutMs,
      connectTimeoutMS: this.options.connectTimeoutMs,
      appName: '12factor-app',
    });
  }
}
