import { randomBytes } from 'node:crypto';
import process from 'node:process';
import Fastify from 'fastify';
import pg from 'pg';

// What a user would write instead of adopting the service, on PostgreSQL: Fastify, one named
// (prepared) statement per request, no logs, no metrics, no outbox. The bench measures the
// service against it on the same database. Plain JavaScript, as the web process runs from dist/.
// The pool's size is the service's default DATABASE_POOL_MAX.
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });

const COLUMNS = 'id, name, email, created_at as "createdAt", updated_at as "updatedAt"';
const one = async (name, text, values) => (await pool.query({ name, text, values })).rows;

const app = Fastify({ logger: false });
app.get('/user/:id', async (request, reply) => {
  const [user] = await one('by_id', `select ${COLUMNS} from users where id = $1`, [
    request.params.id,
  ]);
  if (!user) return reply.code(404).send({ error: 'not found' });
  return user;
});
app.get('/user', async (request, reply) => {
  const rows = await one(
    'page',
    `select ${COLUMNS}, count(*) over () as total from users limit $1 offset $2`,
    [Number(request.query.limit ?? 30), Number(request.query.skip ?? 0)],
  );
  reply.header('x-total-count', rows[0]?.total ?? 0);
  return rows.map(({ total: _total, ...user }) => user);
});
app.post('/user', async (request, reply) => {
  const [user] = await one(
    'insert',
    `insert into users (id, name, email, email_key, created_at, updated_at)
      values ($1, $2, null, null, now(), now()) returning ${COLUMNS}`,
    [randomBytes(12).toString('hex'), request.query.name],
  );
  return reply.code(201).send(user);
});
app.put('/user/:id', async (request, reply) => {
  const [user] = await one(
    'update',
    `update users set name = $1, updated_at = now() where id = $2 returning ${COLUMNS}`,
    [request.query.name, request.params.id],
  );
  if (!user) return reply.code(404).send({ error: 'not found' });
  return user;
});
app.delete('/user/:id', async (request, reply) => {
  const [user] = await one('delete', `delete from users where id = $1 returning ${COLUMNS}`, [
    request.params.id,
  ]);
  if (!user) return reply.code(404).send({ error: 'not found' });
  return user;
});
app.get('/readyz', () => ({ status: 'ok' }));

await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
process.on('SIGTERM', () =>
  app
    .close()
    .then(() => pool.end())
    .then(() => process.exit(0)),
);
