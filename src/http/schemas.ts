import { Type } from 'typebox';
import { FIELDS, UserSchema, userInputSchema } from '../users/user.ts';

export { UserSchema };

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.String(),
    code: Type.String(),
    requestId: Type.String(),
    errors: Type.Optional(
      Type.Array(Type.Object({ field: Type.String(), message: Type.String() })),
    ),
  },
  { $id: 'Problem', title: 'Problem (RFC 9457)' },
);

export const userRef = { $ref: 'User#' } as const;
export const problemRef = { $ref: 'Problem#' } as const;

const filterParams = Object.fromEntries(
  Object.keys(FIELDS).map((field) => [
    field,
    Type.Optional(Type.String({ description: `Equality filter on \`${field}\` (exact match).` })),
  ]),
);

export const ListQuerySchema = Type.Object(
  {
    where: Type.Optional(
      Type.String({
        description:
          'JSON criteria: `{"name":{"contains":"bin"}}`; operators `<` `<=` `>` `>=` `!` `in` `like` `contains` `startsWith` `endsWith`, and `or`/`and` arrays.',
      }),
    ),
    sort: Type.Optional(
      Type.String({ description: '`"name DESC"`, `"name ASC,createdAt DESC"` or `{"name":-1}`.' }),
    ),
    limit: Type.Optional(Type.String({ description: 'Page size, 0–1000 (default 30).' })),
    skip: Type.Optional(Type.String({ description: 'Records to skip (default 0).' })),
    ...filterParams,
  },
  { additionalProperties: false },
);

export const IdParamsSchema = Type.Object({ id: Type.String() });
export const CreateBodySchema = userInputSchema({ requireName: true });
export const UpdateBodySchema = userInputSchema({ requireName: false });

export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((status) => [status, problemRef]));
