app_name = "planning"

urlpatterns = []  # the planning pages register here
