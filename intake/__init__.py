"""The online side: the source app, the staff app and the `sealdrop` command."""
