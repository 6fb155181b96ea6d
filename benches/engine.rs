//! Throughput of the DTE engine: generate + TED + sign + validate, keys preloaded.
//!
//! Run: `cargo bench --bench engine` (set `DTE_BENCH_DOCS` to change the document count).

// A benchmark reads its own set-up: a failure there may panic, and stops the run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use dte_sidecar::dte::{
    build_envio, build_signed_dte, build_signed_dte_timed, compact_between_tags, verify_document, Caf, CafTrust,
    Caratula, DteRequest, Resolution, Rut, Schemas, SignedDte, Signer, StageTimings,
};

/// The target: the document's XMLDSig at most this many times a bare RSA-2048
/// signature measured in the same run.
const TARGET_SIGNING_RATIO: f64 = 1.15;

fn manifest(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn read(relative: &str) -> Vec<u8> {
    std::fs::read(manifest(relative)).unwrap_or_else(|error| panic!("{relative}: {error}"))
}

struct Setup {
    request: DteRequest,
    caf: Caf,
    signer: Signer,
    schemas: Schemas,
    trust: CafTrust,
}

fn setup() -> Setup {
    let trust = CafTrust::sii()
        .with_extra_key(100, &read("tests/fixtures/keys/FAKE-SII-IDK100-public.pem"))
        .expect("fake SII key");
    Setup {
        request: DteRequest::from_json(&read("docs/dte-json/33.json")).expect("request"),
        caf: Caf::parse(&read("tests/fixtures/keys/CAF-SYNTHETIC-76000001-9-T33-F1-100.xml"), &trust).expect("CAF"),
        signer: Signer::from_pkcs12(&read("tests/fixtures/keys/signer-11111111-1.p12"), "1234").expect("signer"),
        schemas: Schemas::from_dir(manifest("schemas/sii")).expect("schemas"),
        trust,
    }
}

/// The synthetic T33 CAF widened to `last_folio` folios and re-signed with the fake SII key.
fn wide_caf(last_folio: i64) -> Vec<u8> {
    let original =
        String::from_utf8(read("tests/fixtures/keys/CAF-SYNTHETIC-76000001-9-T33-F1-100.xml")).expect("CAF text");
    let widened = original.replacen("<H>100</H>", &format!("<H>{last_folio}</H>"), 1);
    let da_start = widened.find("<DA>").expect("DA");
    let da_end = widened.find("</DA>").expect("DA end") + "</DA>".len();
    let da = compact_between_tags(&widened[da_start..da_end]);
    let key = openssl::pkey::PKey::private_key_from_pem(&read("tests/fixtures/keys/FAKE-SII-IDK100-private.pem"))
        .expect("fake SII key");
    let mut signer = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha1(), &key).expect("signer");
    signer.update(da.as_bytes()).expect("update");
    let frma = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, signer.sign_to_vec().expect("sign"));
    let open_tag = "<FRMA algoritmo=\"SHA1withRSA\">";
    let frma_start = widened.find(open_tag).expect("FRMA") + open_tag.len();
    let frma_end = widened.find("</FRMA>").expect("FRMA end");
    format!("{}{}{}", &widened[..frma_start], frma, &widened[frma_end..]).into_bytes()
}

fn stamped_at() -> chrono::NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 1, 5).and_then(|date| date.and_hms_opt(10, 0, 0)).expect("timestamp")
}

fn add(total: &mut StageTimings, one: &StageTimings) {
    total.validate += one.validate;
    total.build_xml += one.build_xml;
    total.ted += one.ted;
    total.sign += one.sign;
    total.schema += one.schema;
    total.serialise += one.serialise;
}

fn micros(duration: Duration, count: usize) -> f64 {
    duration.as_secs_f64() * 1e6 / count as f64
}

/// Builds `count` documents on this thread; returns elapsed wall time and summed stage times.
fn run(setup: &Setup, count: usize) -> (Duration, StageTimings) {
    let mut stages = StageTimings::default();
    let started = Instant::now();
    for index in 0..count {
        let folio = (index % 100 + 1) as i64;
        let (_, timings) =
            build_signed_dte_timed(&setup.request, folio, &setup.caf, &setup.signer, &setup.schemas, stamped_at())
                .expect("document");
        add(&mut stages, &timings);
    }
    (started.elapsed(), stages)
}

fn rsa_sign_micros(key_pem: &[u8], rounds: usize) -> f64 {
    let key = openssl::pkey::PKey::private_key_from_pem(key_pem).expect("key");
    let started = Instant::now();
    for _ in 0..rounds {
        let mut signer = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha1(), &key).expect("signer");
        signer.update(b"benchmark").expect("update");
        signer.sign_to_vec().expect("sign");
    }
    micros(started.elapsed(), rounds)
}

fn main() {
    let count: usize = std::env::var("DTE_BENCH_DOCS").ok().and_then(|value| value.parse().ok()).unwrap_or(2000);
    let setup = setup();
    println!("DTE engine benchmark — generate + TED + sign + schema-validate, keys preloaded");
    println!(
        "document: type 33 from docs/dte-json/33.json (3 lines, 1 global discount, 1 reference); \
         signer RSA-2048, CAF RSA-512"
    );

    // Warm-up: loads the thread's xmlsec key and compiles its schema validator.
    run(&setup, 50);

    let (elapsed, stages) = run(&setup, count);
    let per_second = count as f64 / elapsed.as_secs_f64();
    println!();
    println!(
        "one thread (= one core): {count} documents in {:.3} s → {per_second:.0} documents/s \
         per core ({:.0} µs each)",
        elapsed.as_secs_f64(),
        micros(elapsed, count)
    );
    println!("  stage                              mean µs   share");
    let total = stages.total();
    for (name, duration) in [
        ("validate request + totals", stages.validate),
        ("build XML tree", stages.build_xml),
        ("TED: DD + FRMT (RSA-512)", stages.ted),
        ("XMLDSig Documento (RSA-2048)", stages.sign),
        ("schema validation (DTE_v10)", stages.schema),
        ("serialise ISO-8859-1 + check", stages.serialise),
    ] {
        println!(
            "  {name:<32} {:>9.1}   {:>4.1} %",
            micros(duration, count),
            100.0 * duration.as_secs_f64() / total.as_secs_f64()
        );
    }
    println!("  {:<32} {:>9.1}", "sum of stages", micros(total, count));

    let signer_key = read("tests/fixtures/keys/signer-11111111-1-key.pem");
    let caf_text =
        String::from_utf8(read("tests/fixtures/keys/CAF-SYNTHETIC-76000001-9-T33-F1-100.xml")).expect("CAF text");
    let caf_key_start = caf_text.find("-----BEGIN RSA PRIVATE KEY-----").expect("RSASK");
    let caf_key_end =
        caf_text.find("-----END RSA PRIVATE KEY-----").expect("RSASK end") + "-----END RSA PRIVATE KEY-----".len();
    let rsa_2048 = rsa_sign_micros(&signer_key, 500);
    let rsa_512 = rsa_sign_micros(&caf_text.as_bytes()[caf_key_start..caf_key_end], 2000);
    println!("  for reference, bare openssl in this run: RSA-2048 sign {rsa_2048:.0} µs, RSA-512 sign {rsa_512:.0} µs");
    let signing_ratio = micros(stages.sign, count) / rsa_2048;
    println!(
        "  XMLDSig Documento / bare RSA-2048: {signing_ratio:.2} × (target ≤ {TARGET_SIGNING_RATIO:.2}: {})",
        if signing_ratio <= TARGET_SIGNING_RATIO { "met" } else { "NOT met" }
    );
    println!(
        "  whole document / bare RSA-2048 + RSA-512 (its two signatures): {:.2} ×",
        micros(elapsed, count) / (rsa_2048 + rsa_512)
    );

    // All cores at once: each thread keeps its own keys and validator.
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let shared = std::sync::Arc::new(setup);
    let per_thread = count / threads;
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let shared = shared.clone();
            std::thread::spawn(move || {
                run(&shared, 20);
                let (elapsed, _) = run(&shared, per_thread);
                elapsed
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("worker");
    }
    let elapsed = started.elapsed();
    println!();
    println!(
        "{threads} threads at once: {} documents in {:.3} s → {:.0} documents/s in total \
         ({:.0} per core; includes each thread's warm-up)",
        per_thread * threads,
        elapsed.as_secs_f64(),
        (per_thread * threads) as f64 / elapsed.as_secs_f64(),
        (per_thread * threads) as f64 / elapsed.as_secs_f64() / threads as f64
    );

    // Envelopes and the verifier, for scale. A CAF with room for 2000 folios, signed by the
    // fake SII key, lets one envelope reach the schema's maximum.
    let setup = &*shared;
    let big_caf = Caf::parse(&wide_caf(2000), &setup.trust).expect("wide CAF");
    let caratula = Caratula::for_sii(
        Rut::parse("76000001-9").expect("RUT"),
        Resolution { number: 0, date: NaiveDate::from_ymd_opt(2026, 1, 2).expect("date") },
    )
    .expect("caratula");
    let mut documents: Vec<SignedDte> = Vec::new();
    println!();
    for size in [100, 2000] {
        while documents.len() < size {
            let folio = documents.len() as i64 + 1;
            documents.push(
                build_signed_dte(&setup.request, folio, &big_caf, &setup.signer, &setup.schemas, stamped_at())
                    .expect("document"),
            );
        }
        let started = Instant::now();
        let envelope =
            build_envio(&documents, &caratula, &setup.signer, &setup.schemas, stamped_at()).expect("envelope");
        let envelope_time = started.elapsed();
        // Files from outside keep libxml's 10 MB look-up limit: the verifier refuses larger.
        if envelope.len() > 10_000_000 {
            println!(
                "EnvioDTE of {size} DTEs ({} KiB): build + sign + validate {:.1} ms; not verified (over \
                 the verifier's 10 MB limit for outside files)",
                envelope.len() / 1024,
                envelope_time.as_secs_f64() * 1e3
            );
            continue;
        }
        let started = Instant::now();
        let report = verify_document(&envelope, &setup.schemas, &setup.trust).expect("report");
        let verify_time = started.elapsed();
        assert!(report.is_valid(), "{:?}", report.problems());
        println!(
            "EnvioDTE of {size} DTEs ({} KiB): build + sign + validate {:.1} ms; full verification \
             {:.1} ms ({:.0} µs per DTE)",
            envelope.len() / 1024,
            envelope_time.as_secs_f64() * 1e3,
            verify_time.as_secs_f64() * 1e3,
            micros(verify_time, size)
        );
    }
    let single = &documents[0].xml;
    let rounds = 500;
    let started = Instant::now();
    for _ in 0..rounds {
        verify_document(single, &setup.schemas, &setup.trust).expect("report");
    }
    println!("verify one DTE (schema, CAF, TED, signature): {:.0} µs", micros(started.elapsed(), rounds));
}
