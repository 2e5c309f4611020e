//! Server-side rollback, as upstream's `rollback.go`, for the `deprecated.deployment.rollback.to`
//! annotation that apps/v1 keeps of the old `spec.rollbackTo`. (`kubectl rollout undo` on
//! apps/v1 rolls back client-side: it copies an old ReplicaSet's template into the Deployment,
//! which the controller sees as an ordinary template change matching that ReplicaSet.)

use super::sync::{Api, Syncer, name_of};
use super::util::*;
use crate::controllers::events::{NORMAL, WARNING};
use crate::error::ApiError;

impl<A: Api + ?Sized> Syncer<'_, A> {
    /// `rollback`: copy the template of the asked-for revision (0: the previous one) into the
    /// Deployment and drop the request.
    pub(crate) fn rollback(&mut self, to: i64) -> Result<(), ApiError> {
        self.all_replica_sets_and_sync_revision(true)?;
        let mut to = to;
        if to == 0 {
            to = last_revision(self.rss.iter());
            if to == 0 {
                self.api.event(
                    &self.d,
                    WARNING,
                    "DeploymentRollbackRevisionNotFound",
                    "Unable to find last revision.",
                );
                return self.update_deployment_and_clear_rollback_to();
            }
        }
        let target = self
            .all()
            .into_iter()
            .find(|&i| revision(&self.rss[i]).is_ok_and(|v| v == to));
        let Some(i) = target else {
            self.api.event(
                &self.d,
                WARNING,
                "DeploymentRollbackRevisionNotFound",
                "Unable to find the revision to rollback to.",
            );
            return self.update_deployment_and_clear_rollback_to();
        };
        let rs = self.rss[i].clone();
        let template = rs_template(&rs);
        if equal_ignore_hash(&self.d.spec.template, &template) {
            self.api.event(
                &self.d,
                WARNING,
                "DeploymentRollbackTemplateUnchanged",
                &format!(
                    "The rollback revision contains the same template as current deployment {:?}",
                    name_of(&self.d)
                ),
            );
            return self.update_deployment_and_clear_rollback_to();
        }
        // `SetFromReplicaSetTemplate`: the template without the hash label.
        let mut template = template;
        if let Some(labels) = template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
            labels.remove(HASH_LABEL);
        }
        self.d.spec.template = template;
        set_deployment_annotations_to(&mut self.d, &rs);
        self.update_deployment_and_clear_rollback_to()?;
        self.api.event(
            &self.d,
            NORMAL,
            "DeploymentRollback",
            &format!(
                "Rolled back deployment {:?} to revision {to}",
                name_of(&self.d)
            ),
        );
        Ok(())
    }

    /// `updateDeploymentAndClearRollbackTo`.
    fn update_deployment_and_clear_rollback_to(&mut self) -> Result<(), ApiError> {
        if let Some(a) = self.d.metadata.annotations.as_mut() {
            a.remove(ROLLBACK_TO);
        }
        self.d = self.api.update_deployment(&self.d)?;
        Ok(())
    }
}
