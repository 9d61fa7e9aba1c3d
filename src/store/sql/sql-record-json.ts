/*
 * A user record as the API prints it, written by PostgreSQL as text: the keys in the order Sails
 * prints them (orderedUser: name, email, createdAt, updatedAt, id), the e-mail left out when
 * unset, the timestamps as toISOString prints them, no whitespace, and strings escaped by
 * to_json as JSON.stringify escapes them (`"`, `\`, \b \f \n \r \t, other control characters
 * as lowercase \u00xx, everything else as it is). So the text is, byte for byte, what
 * JSON.stringify and the HTTP layer print from the record. Concatenated rather than built with
 * json_build_object: that one writes `" : "` between keys and values, and json_strip_nulls, which
 * would drop the unset e-mail, parses its input again, which doubled the engine's cost of a page.
 */

/**
 * toISOString's text of a timestamptz(3): to_char for years 1–9999; outside them (an imported
 * `0000`, a row written by hand), the years toISOString prints (`+010000`, `0000` for 1 BC,
 * `-000001` for 2 BC).
 */
const iso = (column: string) => {
  const utc = `(${column} at time zone 'UTC')`;
  return `case when ${column} >= '0001-01-01 00:00:00+00' and ${column} < '10000-01-01 00:00:00+00'
    then to_char(${utc}, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
    else case
        when ${column} >= '10000-01-01 00:00:00+00'
          then '+' || lpad(extract(year from ${utc})::int::text, 6, '0')
        when ${column} >= '0001-01-01 00:00:00+00 BC' then '0000'
        else '-' || lpad((-1 - extract(year from ${utc})::int)::text, 6, '0')
      end || to_char(${utc}, '-MM-DD"T"HH24:MI:SS.MS"Z"')
    end`;
};

/** The record of the row aliased `row` (the columns of `users`), as JSON text. */
export const userJson = (row: string) =>
  `('{"name":' || to_json(${row}.name)::text
    || coalesce(',"email":' || to_json(${row}.email)::text, '')
    || ',"createdAt":"' || ${iso(`${row}.created_at`)}
    || '","updatedAt":"' || ${iso(`${row}.updated_at`)}
    || '","id":' || to_json(${row}.id)::text || '}')`;

/**
 * An aggregate: the JSON array text of the records of the rows aliased `rows`, in the order
 * `orderBy` gives (an aggregate's `order by …`, or nothing); `[]` when there are none.
 */
export const usersJsonArray = (rows: string, orderBy: string) =>
  `coalesce('[' || string_agg(${userJson(rows)}, ',' ${orderBy}) || ']', '[]')`;
