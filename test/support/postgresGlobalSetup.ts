import { startTestPostgres } from './postgresServer';

export default startTestPostgres;
