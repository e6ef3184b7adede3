export { dataDir, DATABASE_FILE, migrate, openMemoryStore, openStore, sharedStore, type Migration, type Store } from './db';
