//! Supplier rules learnt from corrections.

use async_trait::async_trait;

use super::SqlStore;
use crate::{LearnedRule, Learning, StoreError, StoreResult};
use docket_domain::review::FieldKind;
use docket_domain::Timestamp;

type RuleRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);

#[async_trait]
impl Learning for SqlStore {
    async fn remember_rule(
        &self,
        org_id: i64,
        supplier: &str,
        rule: &LearnedRule,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO supplier_rules
                 (org_id, supplier_key, kind, category, label, shape, read_as, corrected, learned_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (org_id, supplier_key, kind, category) DO UPDATE SET
                 label = excluded.label, shape = excluded.shape, read_as = excluded.read_as,
                 corrected = excluded.corrected, learned_at = excluded.learned_at",
        )
        .bind(org_id)
        .bind(supplier)
        .bind(rule.kind.entity_type())
        .bind(&rule.category)
        .bind(&rule.label)
        .bind(&rule.shape)
        .bind(rule.replace.as_ref().map(|(read, _)| read))
        .bind(rule.replace.as_ref().map(|(_, corrected)| corrected))
        .bind(Timestamp::now().millis())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn supplier_rules(&self, org_id: i64, supplier: &str) -> StoreResult<Vec<LearnedRule>> {
        let rows: Vec<RuleRow> = sqlx::query_as(
            "SELECT kind, category, label, shape, read_as, corrected FROM supplier_rules
             WHERE org_id = $1 AND supplier_key = $2 ORDER BY kind, category",
        )
        .bind(org_id)
        .bind(supplier)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(kind, category, label, shape, read_as, corrected)| {
                Ok(LearnedRule {
                    kind: FieldKind::parse(&kind).map_err(|e| StoreError::Corrupt(e.0))?,
                    category,
                    label,
                    shape,
                    replace: read_as.zip(corrected),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::with_organisation;
    use super::*;
    use crate::Credentials;

    #[tokio::test]
    async fn a_suppliers_rule_is_kept_per_field_and_organisation() {
        let (_guard, store, org) = super::super::tests::store_or_skip!();
        let rule = |label: &str| LearnedRule {
            kind: FieldKind::Invoice,
            category: "PurchaseOrder".into(),
            label: label.into(),
            shape: "AA-9999".into(),
            replace: None,
        };
        store
            .remember_rule(org, "tax:1", &rule("encomenda"))
            .await
            .unwrap();
        store
            .remember_rule(org, "tax:1", &rule("order"))
            .await
            .unwrap();
        assert_eq!(
            store.supplier_rules(org, "tax:1").await.unwrap(),
            [rule("order")]
        );
        assert!(store.supplier_rules(org, "tax:2").await.unwrap().is_empty());
        let other = store
            .create_organization("o")
            .await
            .unwrap()
            .organization
            .id;
        assert!(store
            .supplier_rules(other, "tax:1")
            .await
            .unwrap()
            .is_empty());
    }
}
