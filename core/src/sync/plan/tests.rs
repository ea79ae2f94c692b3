use super::*;

fn image(repository: &str, tag: &str) -> PlannedImage {
    PlannedImage {
        source: format!("docker://src.example/{repository}:{tag}"),
        destination: format!("docker://dst.example/{repository}:{tag}"),
        repository: format!("dst.example/{repository}"),
        source_digest: None,
        state: ImageState::Copy,
    }
}

#[test]
fn destination_names_as_skopeo_makes_them() {
    let r = Reference::parse("127.0.0.1:5000/src/app:v1").unwrap();
    assert_eq!(registry_image_suffix(&r, false, ""), "app:v1");
    assert_eq!(registry_image_suffix(&r, false, "-m"), "app:v1-m");
    assert_eq!(
        registry_image_suffix(&r, true, ""),
        "127.0.0.1:5000/src/app:v1"
    );
    let d = "sha256:0123456789012345678901234567890123456789012345678901234567890123";
    let by_digest = Reference::parse(&format!("127.0.0.1:5000/src/app@{d}")).unwrap();
    assert_eq!(
        registry_image_suffix(&by_digest, false, ""),
        format!("app@{d}")
    );

    let (name, repo) =
        destination_name(DestinationKind::Docker, "127.0.0.1:5000/m", "app:v1").unwrap();
    assert_eq!(
        (name.as_str(), repo.as_str()),
        ("docker://127.0.0.1:5000/m/app:v1", "127.0.0.1:5000/m/app")
    );
    let (name, repo) = destination_name(DestinationKind::Dir, "/tmp/out/", "app:v1").unwrap();
    assert_eq!(
        (name.as_str(), repo.as_str()),
        ("dir:/tmp/out/app:v1", "/tmp/out/app")
    );
    let (name, repo) = destination_name(DestinationKind::Oci, "/tmp/out/", "app:v1").unwrap();
    assert_eq!(
        (name.as_str(), repo.as_str()),
        ("oci:/tmp/out/app:v1", "/tmp/out/app")
    );
    let (name, _) = destination_name(DestinationKind::Oci, "/o", &format!("a/app@{d}")).unwrap();
    assert_eq!(name, "oci:/o/a/app");
    let scoped = destination_name(
        DestinationKind::Docker,
        "127.0.0.1:5000/sc",
        "127.0.0.1:5000/src/app:v1",
    );
    assert_eq!(
        scoped.unwrap_err().to_string(),
        "Cannot obtain a valid image reference for transport \"docker\" and reference \"//127.0.0.1:5000/sc/127.0.0.1:5000/src/app:v1\": invalid reference format"
    );
}

#[test]
fn shards_partition_by_repository() {
    let mut sources = Vec::new();
    for r in 0..20 {
        sources.push(PlannedSource {
            name: format!("src.example/r{r}"),
            images: (0..3)
                .map(|t| image(&format!("r{r}"), &format!("t{t}")))
                .collect(),
        });
    }
    let plan = Plan { sources };
    let shards: Vec<Plan> = (0..3).map(|k| plan.clone().shard(k, 3)).collect();
    assert_eq!(
        shards.iter().map(Plan::image_count).sum::<usize>(),
        plan.image_count()
    );
    assert!(
        shards.iter().all(|s| s.image_count() > 0),
        "20 repositories spread over 3"
    );
    for source in &plan.sources {
        let holding: Vec<_> = shards
            .iter()
            .filter(|s| s.sources.iter().any(|x| x.name == source.name))
            .collect();
        assert_eq!(holding.len(), 1, "{} is in one shard", source.name);
    }
    assert_eq!(plan.clone().shard(1, 3), plan.shard(1, 3), "deterministic");
    assert_eq!(parse_shard("2/5").unwrap(), (2, 5));
    for bad in ["5/5", "1", "a/2", "0/0"] {
        assert!(parse_shard(bad).is_err(), "{bad}");
    }
}

#[test]
fn plans_round_trip_as_json() {
    let plan = Plan {
        sources: vec![PlannedSource {
            name: "src.example/app".into(),
            images: vec![image("app", "v1")],
        }],
    };
    let back: Plan = serde_json::from_slice(&plan.to_json()).unwrap();
    assert_eq!(back, plan);
}

#[test]
fn transports_are_checked_in_skopeo_words() {
    assert_eq!(
        SourceKind::parse("oci").unwrap_err().to_string(),
        "\"oci\" is not a valid source transport"
    );
    assert_eq!(
        DestinationKind::parse("yaml").unwrap_err().to_string(),
        "\"yaml\" is not a valid destination transport"
    );
}
