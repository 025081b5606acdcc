# Sourced by the scripts that time the working tree against an earlier revision
# (watermark-speed-vs.sh, check-speed-vs.sh). Builds one binary of this crate at REV, in a git
# worktree under WORK, and at the working tree; both builds share the target directory (the base
# under another version number, so the two never share an artifact), so REV costs one build of
# this crate, not of c2pa. The two builds write the same path, so each binary
# is copied out as soon as it is built: WORK/base.bin and WORK/new.bin. The caller removes the
# worktree (`git worktree remove --force WORK/base`) when it is done.
# Usage: build_at_rev REV WORK --bin|--example NAME
build_at_rev() {
  local rev="$1" work="$2" kind="$3" name="$4" built root
  case "$kind" in
    --bin) built="$CARGO_TARGET_DIR/debug/$name" root="src/main.rs" ;;
    --example)
      built="$CARGO_TARGET_DIR/debug/examples/$name"
      root="examples/$name/main.rs"
      [ -f "$root" ] || root="examples/$name.rs"
      ;;
    *) echo "build_at_rev: $kind is neither --bin nor --example" >&2; return 1 ;;
  esac
  git worktree add --detach "$work/base" "$rev" >/dev/null 2>&1
  # Cargo names a path package's artifacts by name and version, not by where it lives: give the
  # base another version so its library does not overwrite (and pass for) the working tree's.
  sed -i '0,/^version = /s/^version = .*/version = "0.0.0-base"/' "$work/base/Cargo.toml"
  (cd "$work/base" && cargo build --ignore-rust-version --quiet "$kind" "$name")
  cp "$built" "$work/base.bin"
  # When the working tree's build is already fresh, cargo does not copy it back over the path
  # the base build just wrote: touching its root makes it link (and copy) again.
  touch "$root"
  cargo build --ignore-rust-version --quiet "$kind" "$name"
  cp "$built" "$work/new.bin"
  if cmp -s "$work/base.bin" "$work/new.bin"; then
    echo "build_at_rev: the two builds are the same binary; is $rev the working tree?" >&2
    return 1
  fi
}
