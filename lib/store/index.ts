export { CLI_BUSY_TIMEOUT_MS, dataDir, DATABASE_FILE, migrate, openMemoryStore, openStore, quickCheck, SERVER_BUSY_TIMEOUT_MS, sharedStore, type Migration, type Store, type StoreOptions } from './db';
export { BUSY_BUDGET_MS, BUSY_RETRY_AFTER_SECONDS, busyWaiters, describeStoreError, isBusy, retryWhileBusy, sqliteCode, StoreBusyError, unlessBusy } from './errors';
