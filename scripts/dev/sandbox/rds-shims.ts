// The mysql.rds_* procedures of RDS MariaDB, emulated with SQL SECURITY DEFINER
// procedures owned by root, so that an admin user without SUPER (like the RDS
// master user) drives replication exactly as it must on RDS.

const rdsConfigurationTable = `CREATE TABLE IF NOT EXISTS mysql.rds_configuration (
  name VARCHAR(100) NOT NULL PRIMARY KEY,
  value VARCHAR(100) NULL,
  description VARCHAR(300) NOT NULL
) ENGINE=InnoDB`;

const procedures: Record<string, string> = {
  rds_set_configuration: `CREATE PROCEDURE mysql.rds_set_configuration(IN p_name VARCHAR(100), IN p_value INT)
SQL SECURITY DEFINER
BEGIN
  IF p_name <> 'binlog retention hours' THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'Unsupported configuration name';
  END IF;
  IF p_value IS NULL OR p_value < 1 OR p_value > 2160 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'binlog retention hours must be between 1 and 2160';
  END IF;
  UPDATE mysql.rds_configuration SET value = p_value WHERE name = p_name;
  SET GLOBAL binlog_expire_logs_seconds = p_value * 3600;
END`,
  rds_show_configuration: `CREATE PROCEDURE mysql.rds_show_configuration()
SQL SECURITY DEFINER
BEGIN
  SELECT name, value, description FROM mysql.rds_configuration;
END`,
  rds_stop_replication: `CREATE PROCEDURE mysql.rds_stop_replication()
SQL SECURITY DEFINER
BEGIN
  STOP SLAVE;
  SELECT 'Slave is down or disabled' AS Message;
END`,
  rds_start_replication: `CREATE PROCEDURE mysql.rds_start_replication()
SQL SECURITY DEFINER
BEGIN
  START SLAVE;
  SELECT 'Slave running normally.' AS Message;
END`,
  rds_set_external_master: `CREATE PROCEDURE mysql.rds_set_external_master(
  IN host VARCHAR(255), IN port INT, IN user_name VARCHAR(80), IN user_password VARCHAR(256),
  IN log_file_name VARCHAR(255), IN log_file_pos BIGINT, IN ssl_encryption INT)
SQL SECURITY DEFINER
BEGIN
  SET @rds_stmt = CONCAT('CHANGE MASTER TO MASTER_HOST = ', QUOTE(host), ', MASTER_PORT = ', port,
    ', MASTER_USER = ', QUOTE(user_name), ', MASTER_PASSWORD = ', QUOTE(user_password),
    ', MASTER_LOG_FILE = ', QUOTE(log_file_name), ', MASTER_LOG_POS = ', log_file_pos,
    ', MASTER_SSL = ', IF(ssl_encryption = 1, 1, 0), ', MASTER_USE_GTID = no');
  PREPARE rds_change_master FROM @rds_stmt;
  SET @rds_stmt = NULL;
  EXECUTE rds_change_master;
  DEALLOCATE PREPARE rds_change_master;
END`,
  rds_set_external_master_gtid: `CREATE PROCEDURE mysql.rds_set_external_master_gtid(
  IN host VARCHAR(255), IN port INT, IN user_name VARCHAR(80), IN user_password VARCHAR(256),
  IN gtid VARCHAR(1024), IN ssl_encryption INT)
SQL SECURITY DEFINER
BEGIN
  SET GLOBAL gtid_slave_pos = gtid;
  SET @rds_stmt = CONCAT('CHANGE MASTER TO MASTER_HOST = ', QUOTE(host), ', MASTER_PORT = ', port,
    ', MASTER_USER = ', QUOTE(user_name), ', MASTER_PASSWORD = ', QUOTE(user_password),
    ', MASTER_SSL = ', IF(ssl_encryption = 1, 1, 0), ', MASTER_USE_GTID = slave_pos');
  PREPARE rds_change_master FROM @rds_stmt;
  SET @rds_stmt = NULL;
  EXECUTE rds_change_master;
  DEALLOCATE PREPARE rds_change_master;
END`,
  rds_reset_external_master: `CREATE PROCEDURE mysql.rds_reset_external_master()
SQL SECURITY DEFINER
BEGIN
  STOP SLAVE;
  RESET SLAVE ALL;
END`,
  rds_kill: `CREATE PROCEDURE mysql.rds_kill(IN thread BIGINT)
SQL SECURITY DEFINER
BEGIN
  KILL CONNECTION thread;
END`,
  rds_kill_query: `CREATE PROCEDURE mysql.rds_kill_query(IN thread BIGINT)
SQL SECURITY DEFINER
BEGIN
  KILL QUERY thread;
END`,
};

/** Privileges of the RDS MariaDB master user: no SUPER, FILE, SHUTDOWN, SET USER or replication admin. */
export const RDS_MASTER_PRIVILEGES = [
  'SELECT',
  'INSERT',
  'UPDATE',
  'DELETE',
  'CREATE',
  'DROP',
  'RELOAD',
  'PROCESS',
  'REFERENCES',
  'INDEX',
  'ALTER',
  'SHOW DATABASES',
  'CREATE TEMPORARY TABLES',
  'LOCK TABLES',
  'EXECUTE',
  'REPLICATION SLAVE',
  'BINLOG MONITOR',
  'CREATE VIEW',
  'SHOW VIEW',
  'CREATE ROUTINE',
  'ALTER ROUTINE',
  'CREATE USER',
  'EVENT',
  'TRIGGER',
  'SLAVE MONITOR',
].join(', ');

/** Statements, run as root with binlogging off, that make a plain MariaDB look like RDS to its admin user. */
export function rdsShimStatements(admin: { user: string; passwordHash: string }): string[] {
  const grants = Object.keys(procedures).map((name) => `GRANT EXECUTE ON PROCEDURE mysql.${name} TO '${admin.user}'@'%'`);
  return [
    rdsConfigurationTable,
    "INSERT IGNORE INTO mysql.rds_configuration VALUES ('binlog retention hours', NULL, 'binlog retention hours specifies the duration in hours before binary logs are automatically deleted.')",
    ...Object.keys(procedures).map((name) => `DROP PROCEDURE IF EXISTS mysql.${name}`),
    ...Object.values(procedures),
    `CREATE USER IF NOT EXISTS '${admin.user}'@'%' IDENTIFIED BY PASSWORD '${admin.passwordHash}'`,
    `GRANT ${RDS_MASTER_PRIVILEGES} ON *.* TO '${admin.user}'@'%' WITH GRANT OPTION`,
    ...grants,
  ];
}
