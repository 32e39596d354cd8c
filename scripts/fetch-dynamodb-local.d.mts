/** The pinned amplify-dynamodb-simulator version the emulator comes from. */
export const SIMULATOR_VERSION: string;
/** Where the emulator (DynamoDBLocal.jar, DynamoDBLocal_lib/) is cached. */
export const emulatorDir: string;
/** Fetches the emulator into the cache unless it is there already; returns its folder. */
export function fetchDynamoDBLocal(): string;
