from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect


def home(request):
    return redirect("board")


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


login_view = login_not_required(LoginView.as_view())
logout_view = auth_views.LogoutView.as_view()
