from django.shortcuts import render

from projects import live


def board(request):
    """The live board: current tasks rendered in, then kept current over /ws/board/."""
    return render(request, "projects/board.html", {"board": live.board_state(request.user)})
