/**
 * Positions encode (transaction id, ordinal): `position = xid8 << ORDINAL_BITS | ordinal`, where xid8 is the
 * 64-bit id of the transaction that wrote the event (`pg_current_xact_id()`) and the ordinal counts the
 * transaction's events from 0. So readAll order is transaction order, then batch order, and one bigint carries
 * both. 20 bits give up to 1,048,576 events per transaction and leave 43 bits (8.8 × 10¹²) of transaction ids.
 * Positions are at least 1 because PostgreSQL's first normal transaction id is 3.
 */
export const ORDINAL_BITS = 20;
