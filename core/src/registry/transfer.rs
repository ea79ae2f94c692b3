//! Moving blobs and manifests: streamed blob downloads, existence checks, streamed uploads,
//! cross-repository mounts, and manifest pushes.

use super::client::{repository_scope, status_error, RegistryClient};
use super::resume::ResumingBlob;
use crate::digest::Digest;
use crate::effects::{Clock, HttpClient};
use crate::{Error, Result};
use http::{Method, Response};

/// Appends `key=value` to a URL or path that may already have a query.
pub(super) fn with_query(location: &str, key: &str, value: &str) -> String {
    let sep = if location.contains('?') { '&' } else { '?' };
    format!("{location}{sep}{key}={}", value.replace(':', "%3A"))
}

/// The upload location a registry returned (`Location`), as an absolute URL or a path.
pub(super) fn location<T>(res: &Response<T>, what: &str) -> Result<String> {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| Error::Invalid(format!("{what}: the registry sent no upload location")))
}

impl<'h, H: HttpClient + Clock> RegistryClient<'h, H> {
    /// Opens the blob `digest` of `repository` for streaming; a cut body resumes itself.
    pub async fn get_blob_stream<'c>(
        &'c self,
        repository: &str,
        digest: &Digest,
    ) -> Result<ResumingBlob<'c, 'h, H>> {
        let path = format!("/v2/{repository}/blobs/{digest}");
        let scopes = vec![repository_scope(repository, "pull")];
        let res = self
            .request_streaming(Method::GET, &path, &[], &scopes)
            .await?;
        if res.status() != 200 {
            let (parts, _) = res.into_parts();
            let head = Response::from_parts(parts, Vec::new());
            return Err(status_error(&head, "fetching blob"));
        }
        Ok(ResumingBlob::new(self, path, scopes, res))
    }

    /// Whether `repository` has the blob `digest` (HEAD).
    pub async fn blob_exists(&self, repository: &str, digest: &Digest) -> Result<bool> {
        let path = format!("/v2/{repository}/blobs/{digest}");
        let scopes = [repository_scope(repository, "pull,push")];
        let res = self
            .request(Method::HEAD, &path, &[], Vec::new(), &scopes)
            .await?;
        match res.status().as_u16() {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(status_error(&res, "checking whether a blob exists")),
        }
    }

    /// Asks the registry to link `digest` from `from` into `repository` without uploading it;
    /// `false` when it cannot (the caller uploads then).
    pub async fn mount_blob(&self, repository: &str, digest: &Digest, from: &str) -> Result<bool> {
        let path = with_query(
            &with_query(
                &format!("/v2/{repository}/blobs/uploads/"),
                "mount",
                &digest.to_string(),
            ),
            "from",
            from,
        );
        let scopes = [
            repository_scope(repository, "pull,push"),
            repository_scope(from, "pull"),
        ];
        let res = self
            .request(Method::POST, &path, &[], Vec::new(), &scopes)
            .await?;
        if res.status() == 202 {
            // An upload session was opened instead; leave it unused.
            if let Ok(loc) = location(&res, "mount") {
                let _ = self
                    .request(Method::DELETE, &loc, &[], Vec::new(), &scopes)
                    .await;
            }
        }
        Ok(res.status() == 201)
    }

    /// Pushes a manifest as `reference` (a tag or digest) of `repository`.
    pub async fn put_manifest(
        &self,
        repository: &str,
        reference: &str,
        manifest: &[u8],
        media_type: &str,
    ) -> Result<()> {
        let scopes = [repository_scope(repository, "pull,push")];
        let path = format!("/v2/{repository}/manifests/{reference}");
        let res = self
            .request(
                Method::PUT,
                &path,
                &[("Content-Type", media_type)],
                manifest.to_vec(),
                &scopes,
            )
            .await?;
        if res.status() != 201 {
            return Err(super::client::manifest_error(&res));
        }
        Ok(())
    }
}
