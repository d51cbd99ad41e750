import { stopTestPostgres } from './postgresServer';

export default stopTestPostgres;
