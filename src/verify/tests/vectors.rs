//! Published and derived vectors, and (from `make vectors`) SDK-signed fixtures.

use super::*;

#[test]
fn every_vector_passes_and_fails_when_tampered() {
    let doc: serde_json::Value = serde_json::from_str(include_str!("vectors.json")).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for vec in doc["vectors"].as_array().unwrap() {
        let provider = vec["provider"].as_str().unwrap();
        let scheme = match provider {
            "coinbase-commerce" => "coinbase",
            "twilio-json" => "twilio",
            p => p,
        };
        seen.insert(scheme);
        let secret = vec["secret"]
            .as_str()
            .or(vec["public_key"].as_str())
            .unwrap();
        let mut toml_src = format!(
            "scheme = {scheme:?}\nsecrets = [{}]\ntolerance = \"3650d\"\n",
            toml::Value::String(secret.to_string())
        );
        let (mut path, method) = (
            "/hook".to_string(),
            vec["method"].as_str().unwrap_or("POST"),
        );
        let mut hdrs: Vec<(String, String)> = vec["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        let mut body = vec["body"].as_str().unwrap_or("").to_string();
        if let Some(url) = vec["url"].as_str() {
            let after_scheme = url.find("://").unwrap() + 3;
            let split = url[after_scheme..]
                .find('/')
                .map_or(url.len(), |i| i + after_scheme);
            toml_src.push_str(&format!("public_url = {:?}\n", &url[..split]));
            path = url[split..].to_string();
        }
        if let Some(form) = vec["form"].as_object() {
            body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(
                    form.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())),
                )
                .finish();
            hdrs.push((
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
        }
        if let Some(form) = vec["form_multi"].as_array() {
            body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(
                    form.iter()
                        .map(|p| (p[0].as_str().unwrap(), p[1].as_str().unwrap())),
                )
                .finish();
            hdrs.push((
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
        }
        let v = verifier(&toml_src);
        let h = headers(&hdrs);
        let now = at(1_700_000_000);
        let ok = check(&v, method, &path, &h, body.as_bytes(), now);
        assert!(ok.is_ok(), "{provider} vector failed: {ok:?}");
        let mut tampered = body.clone().into_bytes();
        tampered[0] ^= 1;
        assert_eq!(
            check(&v, method, &path, &h, &tampered, now),
            Err(Reason::SignatureInvalid),
            "{provider}: tampered body accepted"
        );
    }
    for p in PROVIDERS
        .iter()
        .filter(|p| p.vector.starts_with("published"))
    {
        assert!(
            seen.contains(p.name),
            "{}: the table says published, but vectors.json has none",
            p.name
        );
    }
}
