-- Company scope (contract §6): every customer belongs to a company.
--
-- Rows from before this migration may have no company; they are kept as they
-- are (the same schema as SQLite, which cannot add NOT NULL in place): every
-- scope check compares the customer's company with the rep's or the article's,
-- and NULL equals nothing, so a company-less customer reaches no rep and no
-- article (its old relations become unusable). NOT VALID enforces the rule for
-- new rows and updates without failing on the legacy ones.
ALTER TABLE customer ADD CONSTRAINT customer_company_required CHECK (company_id IS NOT NULL) NOT VALID;
