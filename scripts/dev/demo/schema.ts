// A shop schema with what real migrations trip over: foreign keys, JSON,
// generated columns, utf8mb4 text, BLOBs, a trigger, routines, a view and an event.
export const DEMO_DATABASE = 'shop';

export const demoSchema = [
  `CREATE DATABASE ${DEMO_DATABASE} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
  `CREATE TABLE ${DEMO_DATABASE}.customers (
     id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
     email VARCHAR(191) NOT NULL,
     name VARCHAR(200) NOT NULL,
     profile JSON NULL,
     country CHAR(2) NOT NULL,
     created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
     UNIQUE KEY uq_email (email),
     KEY ix_country (country)
   ) ENGINE=InnoDB`,
  `CREATE TABLE ${DEMO_DATABASE}.products (
     id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
     sku VARCHAR(32) NOT NULL UNIQUE,
     title VARCHAR(255) NOT NULL,
     price DECIMAL(10,2) NOT NULL,
     price_with_tax DECIMAL(12,2) AS (ROUND(price * 1.2, 2)) STORED,
     title_lower VARCHAR(255) AS (LOWER(title)) VIRTUAL,
     attrs JSON NULL,
     thumbnail BLOB NULL
   ) ENGINE=InnoDB`,
  `CREATE TABLE ${DEMO_DATABASE}.orders (
     id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
     customer_id INT UNSIGNED NOT NULL,
     status ENUM('new','paid','shipped','cancelled') NOT NULL DEFAULT 'new',
     total DECIMAL(12,2) NOT NULL DEFAULT 0,
     note TEXT NULL,
     created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
     KEY ix_customer (customer_id),
     CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id)
   ) ENGINE=InnoDB`,
  `CREATE TABLE ${DEMO_DATABASE}.order_items (
     order_id BIGINT UNSIGNED NOT NULL,
     line SMALLINT UNSIGNED NOT NULL,
     product_id INT UNSIGNED NOT NULL,
     quantity SMALLINT UNSIGNED NOT NULL,
     unit_price DECIMAL(10,2) NOT NULL,
     PRIMARY KEY (order_id, line),
     KEY ix_product (product_id),
     CONSTRAINT fk_items_order FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE,
     CONSTRAINT fk_items_product FOREIGN KEY (product_id) REFERENCES products (id)
   ) ENGINE=InnoDB`,
  `CREATE TABLE ${DEMO_DATABASE}.accounts (
     id INT UNSIGNED NOT NULL PRIMARY KEY,
     balance BIGINT NOT NULL DEFAULT 0,
     updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
   ) ENGINE=InnoDB`,
  `CREATE TABLE ${DEMO_DATABASE}.audit_log (
     id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
     order_id BIGINT UNSIGNED NOT NULL,
     action VARCHAR(16) NOT NULL,
     at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
   ) ENGINE=InnoDB`,
  `CREATE TABLE ${DEMO_DATABASE}.event_ticks (
     id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
     at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
   ) ENGINE=InnoDB`,
  `CREATE TABLE ${DEMO_DATABASE}.workload_writes (
     id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
     writer SMALLINT UNSIGNED NOT NULL,
     seq INT UNSIGNED NOT NULL,
     payload VARCHAR(255) NOT NULL,
     at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
     UNIQUE KEY uq_writer_seq (writer, seq)
   ) ENGINE=InnoDB`,
  `CREATE TRIGGER ${DEMO_DATABASE}.orders_audit AFTER UPDATE ON ${DEMO_DATABASE}.orders FOR EACH ROW
     INSERT INTO ${DEMO_DATABASE}.audit_log (order_id, action) VALUES (NEW.id, NEW.status)`,
  `CREATE FUNCTION ${DEMO_DATABASE}.order_count(p_customer INT UNSIGNED) RETURNS INT READS SQL DATA
     RETURN (SELECT COUNT(*) FROM ${DEMO_DATABASE}.orders WHERE customer_id = p_customer)`,
  `CREATE PROCEDURE ${DEMO_DATABASE}.pay_order(IN p_order BIGINT UNSIGNED)
     UPDATE ${DEMO_DATABASE}.orders SET status = 'paid' WHERE id = p_order AND status = 'new'`,
  `CREATE VIEW ${DEMO_DATABASE}.customer_totals AS
     SELECT c.id, c.email, COUNT(o.id) AS orders, COALESCE(SUM(o.total), 0) AS spent
       FROM ${DEMO_DATABASE}.customers c LEFT JOIN ${DEMO_DATABASE}.orders o ON o.customer_id = c.id GROUP BY c.id, c.email`,
  `CREATE EVENT ${DEMO_DATABASE}.tick ON SCHEDULE EVERY 1 SECOND DO INSERT INTO ${DEMO_DATABASE}.event_ticks () VALUES ()`,
];

/** Bulk rows; `scale` 1 is about 300k rows and 100 MB. MariaDB's seq_1_to_N tables generate them server-side. */
export function demoData(scale: number): string[] {
  const n = (base: number) => Math.max(10, Math.round(base * scale));
  const customers = n(40_000);
  const products = n(5_000);
  const orders = n(100_000);
  return [
    `INSERT INTO ${DEMO_DATABASE}.customers (email, name, profile, country)
       SELECT CONCAT('user', seq, '@example.com'), CONCAT('Zoë Ünal-Łukasz 客户 ', seq, ' 🚀'),
              JSON_OBJECT('tier', ELT(1 + seq % 3, 'free', 'pro', 'vip'), 'tags', JSON_ARRAY('a', seq % 7), 'score', seq / 7),
              ELT(1 + seq % 5, 'DE', 'FR', 'JP', 'BR', 'US')
         FROM ${DEMO_DATABASE}.seq_1_to_${customers}`,
    `INSERT INTO ${DEMO_DATABASE}.products (sku, title, price, attrs, thumbnail)
       SELECT CONCAT('SKU-', seq), CONCAT('Product ', seq, ' — Ñandú edition'), 1 + (seq * 37 % 10000) / 100,
              JSON_OBJECT('color', ELT(1 + seq % 4, 'red', 'green', 'blue', NULL), 'weight_g', seq % 1000),
              IF(seq % 10 = 0, NULL, UNHEX(REPEAT(LPAD(HEX(seq % 256), 2, '0'), 256 + seq % 512)))
         FROM ${DEMO_DATABASE}.seq_1_to_${products}`,
    `INSERT INTO ${DEMO_DATABASE}.orders (customer_id, status, total, note)
       SELECT 1 + seq % ${customers}, ELT(1 + seq % 4, 'new', 'paid', 'shipped', 'cancelled'), (seq * 13 % 100000) / 100,
              IF(seq % 3 = 0, NULL, IF(seq % 3 = 1, '', CONCAT('Bitte klingeln 🔔 #', seq)))
         FROM ${DEMO_DATABASE}.seq_1_to_${orders}`,
    `INSERT INTO ${DEMO_DATABASE}.order_items (order_id, line, product_id, quantity, unit_price)
       SELECT o.seq, l.seq, 1 + (o.seq * l.seq) % ${products}, 1 + o.seq % 5, 1 + (o.seq % 5000) / 100
         FROM ${DEMO_DATABASE}.seq_1_to_${orders} o JOIN ${DEMO_DATABASE}.seq_1_to_2 l`,
    `INSERT INTO ${DEMO_DATABASE}.accounts (id, balance) SELECT seq, 1000 FROM ${DEMO_DATABASE}.seq_1_to_100`,
  ];
}
