export { dataDir, DATABASE_FILE, migrate, openStore, sharedStore, type Migration, type Store } from './db';
