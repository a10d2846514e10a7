from django.urls import path

from projects import views

urlpatterns = [
    path("board/", views.board, name="board"),
]
