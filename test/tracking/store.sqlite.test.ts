import { openSqliteStore } from '../../src/store/sqlite';
import { useTempFolder } from './helpers';
import { describeStoreContract } from './storeContract';

const temp = useTempFolder();

describe('SQLite store', () => {
  describeStoreContract({ open: async () => temp.closeLater(await openSqliteStore({ path: temp.file() })) });
});
