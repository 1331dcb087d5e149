# kiwi-like function library for config.sh and friends (installed as /.kconfig).
# Names follow kiwi's so existing scripts keep working:
#   test -f /.kconfig && . /.kconfig
#   test -f /.profile && . /.profile

Echo() {
    echo "$@"
}

Debug() {
    if [ -n "$DEBUG" ]; then echo "+++++> $*"; fi
}

# baseService NAME on|off: enable or disable a systemd unit.
baseService() {
    service=$1
    case "$service" in *.*) ;; *) service="$service.service" ;; esac
    if [ "$2" = "on" ]; then
        systemctl enable "$service"
    else
        systemctl disable "$service" || true
    fi
}

baseInsertService() {
    baseService "$1" on
}

baseRemoveService() {
    baseService "$1" off
}

suseInsertService() {
    baseInsertService "$@"
}

suseRemoveService() {
    baseRemoveService "$@"
}

# baseSetRunlevel TARGET: set the default systemd target (3/5 or a target name).
baseSetRunlevel() {
    case "$1" in
        1) target=rescue.target ;;
        2|3|4) target=multi-user.target ;;
        5) target=graphical.target ;;
        *) target=$1 ;;
    esac
    systemctl set-default "$target"
}

# baseStripDocs: remove documentation, keeping copyright/license files.
baseStripDocs() {
    find /usr/share/doc -depth -mindepth 1 ! -name 'copyright' ! -name 'LICENSE*' \
        ! -name 'COPYING*' -type f -delete 2>/dev/null || true
    find /usr/share/doc -depth -mindepth 1 -type d -empty -delete 2>/dev/null || true
    rm -rf /usr/share/info/* /usr/share/gtk-doc 2>/dev/null || true
}

baseStripMans() {
    rm -rf /usr/share/man/* 2>/dev/null || true
}

# baseStripLocales KEEP...: remove translations except the given locales (e.g. en_US de).
baseStripLocales() {
    for dir in /usr/share/locale/*/; do
        [ -d "$dir" ] || continue
        name=$(basename "$dir")
        keep=no
        for wanted in "$@" C C.UTF-8 en; do
            case "$name" in "$wanted"|"${wanted%%_*}") keep=yes ;; esac
        done
        [ "$keep" = yes ] || rm -rf "$dir"
    done
}

# baseUpdateSysConfig FILE VARIABLE VALUE: set VARIABLE=VALUE in a shell-style config file.
baseUpdateSysConfig() {
    if grep -q "^$2=" "$1" 2>/dev/null; then
        sed -i "s|^$2=.*|$2=$3|" "$1"
    else
        echo "$2=$3" >> "$1"
    fi
}
