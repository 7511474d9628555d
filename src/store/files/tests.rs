//! The safe-open layer against hostile objects: symbolic links (at the name and on the
//! way), FIFOs, devices, directories, oversized files, and modes.

use std::io;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use super::*;

fn fifo(path: &Path) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        rustix::fs::FileType::Fifo,
        Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
}

fn refusal(err: &io::Error) -> Unsafe {
    why_refused(err)
        .cloned()
        .unwrap_or_else(|| panic!("not a refusal: {err:?}"))
}

#[test]
fn regular_files_are_read_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, b"hello").unwrap();
    assert_eq!(read(&file, 5).unwrap(), b"hello");
    assert_eq!(refusal(&read(&file, 4).unwrap_err()), Unsafe::TooLarge(4));

    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&file, &link).unwrap();
    assert_eq!(refusal(&read(&link, 100).unwrap_err()), Unsafe::Symlink);
    let dev = dir.path().join("zero");
    std::os::unix::fs::symlink("/dev/zero", &dev).unwrap();
    assert_eq!(refusal(&read(&dev, 100).unwrap_err()), Unsafe::Symlink);

    let pipe = dir.path().join("fifo");
    fifo(&pipe);
    // Neither a read nor a write open blocks on a FIFO without a peer.
    assert_eq!(
        refusal(&read(&pipe, 100).unwrap_err()),
        Unsafe::NotRegular("a FIFO")
    );
    assert!(why_refused(&Options::write().open(&pipe).unwrap_err()).is_some());
    assert_eq!(
        refusal(&read(dir.path(), 100).unwrap_err()),
        Unsafe::NotRegular("a directory")
    );
    assert_eq!(
        read(&dir.path().join("missing"), 1).unwrap_err().kind(),
        io::ErrorKind::NotFound
    );
}

#[test]
fn a_huge_sparse_file_is_refused_without_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big");
    std::fs::File::create(&file)
        .unwrap()
        .set_len(3 << 30)
        .unwrap();
    assert_eq!(
        refusal(&read(&file, 1 << 20).unwrap_err()),
        Unsafe::TooLarge(1 << 20)
    );
}

#[test]
fn created_files_and_directories_are_private_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let old = rustix::process::umask(Mode::empty());
    let sub = dir.path().join("sub");
    create_dir(&sub).unwrap();
    let file = sub.join("f");
    Options::write().create_new().open(&file).unwrap();
    let temp = Temp::new_in(&sub, ".tmp-").unwrap();
    let kept = temp
        .persist(std::ffi::OsStr::new("g"), Replace::No)
        .unwrap();
    rustix::process::umask(old);
    assert!(kept.is_some());
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&sub), 0o700);
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(&sub.join("g")), 0o600);
    assert_eq!(
        Options::write()
            .create_new()
            .open(&file)
            .unwrap_err()
            .kind(),
        io::ErrorKind::AlreadyExists
    );
}

#[test]
fn a_directory_writable_by_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    create_dir(&sub).unwrap();
    std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o777)).unwrap();
    assert_eq!(
        refusal(&read_dir(&sub).unwrap_err()),
        Unsafe::Writable(0o777)
    );
    assert!(Temp::new_in(&sub, ".tmp-").is_err());
}

#[test]
fn removal_never_follows_a_link_out() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("victim"), b"x").unwrap();
    let tree = dir.path().join("tree");
    create_dir(&tree).unwrap();
    create_dir(&tree.join("inner")).unwrap();
    std::fs::write(tree.join("inner/f"), b"x").unwrap();
    std::os::unix::fs::symlink(outside.path(), tree.join("inner/out")).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("tree-link")).unwrap();
    assert!(remove_dir_all(&dir.path().join("tree-link")).is_err());
    remove_dir_all(&tree).unwrap();
    assert!(!tree.exists());
    assert!(outside.path().join("victim").exists());
}

#[test]
fn below_a_registered_root_no_component_is_followed() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("state");
    assert!(!root::check(&path, root::Missing::Leave).unwrap());
    assert!(root::check(&path, root::Missing::Create).unwrap());
    let real = path.join("real");
    create_dir(&real).unwrap();
    std::fs::write(real.join("f"), b"ok").unwrap();
    std::os::unix::fs::symlink(&real, path.join("link")).unwrap();
    assert_eq!(read(&real.join("f"), 10).unwrap(), b"ok");
    // The link is in the middle of the path: refused below a root.
    assert_eq!(
        refusal(&read(&path.join("link/f"), 10).unwrap_err()),
        Unsafe::Symlink
    );
    assert!(
        Options::write()
            .create_new()
            .open(&path.join("link/g"))
            .is_err()
    );
    assert!(create_dir(&path.join("link/d")).is_err());
    assert!(!real.join("g").exists() && !real.join("d").exists());
    assert!(!root::removed(&path));
    remove_dir_all(&path).unwrap();
    assert!(root::removed(&path));
}

#[test]
fn a_root_writable_by_others_is_refused_with_the_fix() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("shared");
    std::fs::create_dir(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let err = root::check(&path, root::Missing::Create).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("refusing the state root: writable by group or others, mode 1777"),
        "{text}"
    );
    assert!(text.contains("chmod go-w"), "{text}");
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert_eq!(crate::exit::code_of(&err), crate::exit::CSA_ERROR);
}
