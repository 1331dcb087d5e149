# bash completion for kiwi-ng, kiwi-like and kiwi (kiwi-like's kiwi NG command line)
#
# The commands and options come from the program's own --help texts, read once per
# shell and cached, so the completion never disagrees with the installed version.

declare -gA _kiwi_like_help_cache

# The --help text of `kiwi-ng [service command]`, cached per shell.
_kiwi_like_help()
{
    local program=$1 key="$1 ${*:2}"
    if [[ -z ${_kiwi_like_help_cache[$key]+set} ]]; then
        _kiwi_like_help_cache[$key]=$(LC_ALL=C.UTF-8 "$program" "${@:2}" --help 2>/dev/null)
    fi
    printf '%s\n' "${_kiwi_like_help_cache[$key]}"
}

# "service command" pairs, from the "commands:" part of the top-level help.
_kiwi_like_commands()
{
    _kiwi_like_help "$1" | awk '
        /^commands:/ { inside = 1; next }
        inside && /^[^ ]/ { inside = 0 }
        inside && NF >= 2 { print $1 " " $2 }'
}

# Every option of a help text (--name, or --name= when it takes a value).
_kiwi_like_options()
{
    _kiwi_like_help "$@" | grep -oE -- '(^|[[ |(])--?[a-zA-Z][a-zA-Z0-9-]*(=<[^>]*>)?' |
        sed -E 's/^[[ |(]//; s/=<.*/=/' | sort -u
}

# The value placeholder of an option (<directory>, <filename>, ...), empty if none.
_kiwi_like_value_of()
{
    local option=$1
    shift
    _kiwi_like_help "$@" | grep -oE -- "$option=<[^>]*>" | head -n 1 | sed -E 's/.*=<(.*)>/\1/'
}

_kiwi_like()
{
    local cur prev words cword split
    _init_completion -s -n = || return

    local program=${words[0]} service="" command="" i
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            image | system | result)
                service=${words[i]}
                if ((i + 1 < cword)); then command=${words[i + 1]}; fi
                break
                ;;
        esac
    done

    local -a help_args=()
    [[ -n $service && -n $command ]] && help_args=("$service" "$command")

    # The value of --option=<value> or --option <value>
    local option="" value=""
    if [[ $cur == --*=* ]]; then
        option=${cur%%=*}
        value=${cur#*=}
    elif [[ $prev == --* ]] && _kiwi_like_options "$program" "${help_args[@]}" | grep -qx -- "$prev="; then
        option=$prev
        value=$cur
    fi
    if [[ -n $option ]]; then
        local placeholder
        placeholder=$(_kiwi_like_value_of "$option" "$program" "${help_args[@]}")
        cur=$value
        case $placeholder in
            *directory*) _filedir -d ;;
            *file*) _filedir ;;
        esac
        return
    fi

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(_kiwi_like_options "$program" "${help_args[@]}")" -- "$cur"))
        [[ ${COMPREPLY-} == *= ]] && compopt -o nospace
        return
    fi

    if [[ -z $service ]]; then
        COMPREPLY=($(compgen -W "$(_kiwi_like_commands "$program" | cut -d' ' -f1 | sort -u) help" -- "$cur"))
    elif [[ -z $command ]]; then
        COMPREPLY=($(compgen -W "$(_kiwi_like_commands "$program" | awk -v s="$service" '$1 == s { print $2 }')" -- "$cur"))
    fi
}

complete -F _kiwi_like kiwi-ng kiwi-like kiwi
