// The migrations are embedded in the binary (`embed_migrations!`): a new one must rebuild it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
