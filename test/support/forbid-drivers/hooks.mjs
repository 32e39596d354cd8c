/** The backend drivers (the kit's optional peer dependencies). */
const DRIVERS =
  /^(pg|pg-[a-z-]+|@electric-sql\/pglite|@aws-sdk\/[^/]+|@eventstore\/db-client|@grpc\/grpc-js)(\/|$)/;

export async function resolve(specifier, context, next) {
  if (DRIVERS.test(specifier)) throw new Error(`FORBIDDEN DRIVER LOAD: ${specifier}`);
  return next(specifier, context);
}
