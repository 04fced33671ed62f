-- Company scope (contract §6): every customer belongs to a company.
--
-- SQLite cannot add NOT NULL to an existing column without rebuilding the
-- table, and rows from before this migration may have no company. Those rows
-- are kept as they are: every scope check compares the customer's company
-- with the rep's or the article's, and NULL equals nothing, so a company-less
-- customer reaches no rep and no article (its old relations become unusable).
-- New rows and updates must name a company; the triggers enforce it below the
-- service layer, which requires it too.
CREATE TRIGGER customer_company_required_insert BEFORE INSERT ON customer
WHEN NEW.company_id IS NULL
BEGIN
    SELECT RAISE(ABORT, 'customer.company_id is required');
END;

CREATE TRIGGER customer_company_required_update BEFORE UPDATE OF company_id ON customer
WHEN NEW.company_id IS NULL
BEGIN
    SELECT RAISE(ABORT, 'customer.company_id is required');
END;
